-- wrk script: replay prepared requests, each thread its own file, each request once.
-- Lines are: PATH<TAB>SIGNATURE<TAB>BODY (form-encoded). Usage:
--   wrk ... -s bench/requests.lua URL -- PREFIX   (reads PREFIX.<thread number>)
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  requests = {}
  local f = assert(io.open(args[1] .. "." .. id, "r"))
  for line in f:lines() do
    local path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
    if signature ~= "" then headers["X-Twilio-Signature"] = signature end
    table.insert(requests, wrk.format("POST", path, headers, body))
  end
  f:close()
  index = 0
end

-- The runner prepares more requests than a run can send; if one ever runs out it
-- starts again (the runner compares wrk's count with what it prepared and says so).
function request()
  index = index % #requests + 1
  return requests[index]
end
