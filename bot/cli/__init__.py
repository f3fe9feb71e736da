"""The command line's subcommands that have grown beyond a few lines."""
