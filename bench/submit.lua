-- One job per request, without an id: the service (and the floor app) generate a UUID, so every request is new.
wrk.method = "POST"
wrk.body = '{"payload":null,"max_retries":0}'
wrk.headers["Content-Type"] = "application/json"
