"""What the HubSpot and Salesforce fakes share, so each vendor package keeps only its own.

- `json_http`: the threaded 127.0.0.1 server and the request handler that turns a raw
  request into an `Incoming` and a `Reply` into JSON (or a dropped connection).
- `calls`: the call log a test inspects (`calls`, `calls_to`, `call_count`, `reset_calls`).
- `faults`: `"METHOD /path"` glob fault plans and the `drop_next` / `delay_next` scripting.

The vendor packages keep their error bodies, headers, limits, routes and fault kinds.
"""
