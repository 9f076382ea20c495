-- An alert storm for wrk: every request carries one alert, and half of them repeat one of a set
-- of keys that keep firing; the other half are new. The same script drives nines (PagerDuty
-- Events API v2, POST /v2/enqueue) and Prometheus Alertmanager (POST /api/v2/alerts with a list
-- of one alert), so both receive the same alerts in the same proportions.
--
--   wrk -t2 -c32 -d10s -s storm.lua URL -- TARGET RUN [REPEAT] [HOTKEYS] [ROUTINGKEY]
--
-- TARGET is nines or alertmanager; RUN makes the new keys of one run differ from another's;
-- REPEAT is the share of repeats (0.5), HOTKEYS how many keys they are drawn from (1000).
-- Alertmanager deduplicates by labels, so an alert's labels are the same on every repeat;
-- what may differ (the sending host) is an annotation there, as it is payload.source in nines.

local next_thread = 1

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  target = args[1] or "nines"
  run = args[2] or "0"
  share = tonumber(args[3] or "0.5")
  hot = tonumber(args[4] or "1000")
  routing = args[5] or ""
  math.randomseed(tid * 7919 + (tonumber(run) or 0) * 104729)
  n = 0
  headers = { ["Content-Type"] = "application/json" }
  if target == "nines" then
    path = "/v2/enqueue"
  elseif target == "alertmanager" then
    path = "/api/v2/alerts"
  else
    error("target must be nines or alertmanager, not " .. target)
  end
end

function request()
  local key
  if math.random() < share then
    key = "hot-" .. math.random(0, hot - 1)
  else
    n = n + 1
    key = "r" .. run .. "t" .. tid .. "-" .. n
  end
  local body
  if target == "nines" then
    body = string.format('{"routing_key":"%s","event_action":"trigger","dedup_key":"%s",' ..
      '"payload":{"summary":"High 5xx rate on checkout-api (%s)","source":"checkout-api-%d.prod","severity":"error",' ..
      '"component":"checkout-api","group":"prod-eu","custom_details":{"error_rate":0.124,"threshold":0.05,"region":"eu-west-1"}}}',
      routing, key, key, tid)
  else
    body = string.format('[{"labels":{"alertname":"High5xxRate","dedup_key":"%s","severity":"error",' ..
      '"component":"checkout-api","group":"prod-eu","region":"eu-west-1"},' ..
      '"annotations":{"summary":"High 5xx rate on checkout-api (%s)","source":"checkout-api-%d.prod","error_rate":"0.124","threshold":"0.05"}}]',
      key, key, tid)
  end
  return wrk.format("POST", path, headers, body)
end

-- done prints one line the bench reads: requests, time, errors, and latency percentiles in µs.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d status_errors=%d p50_us=%d p99_us=%d p999_us=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
