-- wrk script: createTicket without a category, so every ticket goes to the categorizer.
-- Usage: API_KEY=tlm_... wrk -t2 -c32 -d30s -s bench/create_ticket_ai.lua http://127.0.0.1:8000
local key = os.getenv("API_KEY")
local titles = {
  "My phone keeps dropping the WiFi connection", "Bluetooth pairing fails with my headphones",
  "The battery is empty after two hours", "I got charged twice on this month's invoice",
  "I want a refund for my subscription", "The device gets hot while charging",
  "Cannot connect to the hotspot after the update", "Where is my invoice for October?",
}
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"title":"%s (case %d)","customerEmail":"customer%d@example.com"}',
    titles[counter % #titles + 1], counter, counter % 1000)
  return wrk.format("POST", "/api/ext-v1/ticket/createTicket",
    {["x-api-key"] = key, ["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("tickets/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("p50: %.2f ms  p99: %.2f ms  errors: %d (non-2xx %d)\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
