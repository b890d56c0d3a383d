-- wrk script: createTicket with 10% new customers and an existing category.
-- Usage: API_KEY=tlm_... wrk -t2 -c32 -d30s -s bench/create_ticket.lua http://127.0.0.1:8000
local key = os.getenv("API_KEY")
local category = os.getenv("CATEGORY") or "Connectivity"
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
end

request = function()
  counter = counter + 1
  local email
  if counter % 10 == 0 then
    email = string.format("new-%d-%d-%d@example.com", tid or 0, counter, math.random(1, 1000000000))
  else
    email = string.format("customer%d@example.com", math.random(1, 1000))
  end
  local body = string.format(
    '{"title":"Device not connecting to WiFi","description":"Customer reports their device fails to connect after firmware update v2.3.1","priority":"high","customerEmail":"%s","category":"%s"}',
    email, category)
  return wrk.format("POST", "/api/ext-v1/ticket/createTicket",
    {["x-api-key"] = key, ["Content-Type"] = "application/json"}, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("tickets/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("p50: %.2f ms  p99: %.2f ms  errors: %d (non-2xx %d)\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, summary.errors.status))
end
