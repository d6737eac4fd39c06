-- The benchmark's scenarios for wrk (one per run, chosen by BENCH_SCENARIO).
--
-- wrk plays the TLS-terminating proxy in front of gunicorn: every request carries
-- X-Forwarded-Proto: https and an X-Forwarded-For address (BEHIND_TLS_PROXY=true,
-- PROXY_COUNT=1, as in docker-compose.yml), so production's SSL redirect, secure cookies
-- and CSRF origin checks apply unchanged.
--
-- A response counts as a success only when it is what a person would get: 200 for a page,
-- a 302 to the expected place for a form. Everything else is counted, by status and
-- redirect target, as an error. Each response's X-Queries header (bench/middleware.py) is
-- tallied. done() writes a JSON summary to BENCH_OUT.
--
-- Input (environment, from bench/client.py): BENCH_SCENARIO, BENCH_OUT, BENCH_HOST,
-- BENCH_CSRF_COOKIE, BENCH_CSRF_TOKEN, BENCH_*_SESSIONS, BENCH_PASSWORD, BENCH_SEARCH,
-- BENCH_ADMIN_SEARCH, BENCH_HOLDER_PAGES, BENCH_STATION, BENCH_USERS_FILE, BENCH_PEER_*
-- (the stock peer's token, users and password), BENCH_RUN (a tag per wrk run that keeps
-- the names of created sub-accounts unique).
--
-- A new scenario is one entry in `build` (and in `success_location` when it posts a form),
-- its sessions in init(), a label in bench/report.py, and a line in bench/run.

local scenario = os.getenv("BENCH_SCENARIO")
local host = os.getenv("BENCH_HOST")

local function words(value)
  local list = {}
  for word in string.gmatch(value or "", "%S+") do list[#list + 1] = word end
  return list
end

-- ---------------------------------------------------------------- per-thread state
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
  threads[#threads + 1] = thread
end

local id, counter = 0, 0
-- Globals, not locals: done() reads them from each thread with thread:get().
ok, bad, queries = 0, {}, {}
local users, sessions = {}, {}

function init(args)
  id = wrk.thread:get("id")
  if scenario == "sign_in" then
    for line in io.lines(os.getenv("BENCH_USERS_FILE")) do users[#users + 1] = line end
  elseif scenario == "peer_sign_in" then
    for line in io.lines(os.getenv("BENCH_PEER_USERS_FILE")) do users[#users + 1] = line end
  elseif scenario == "admin_list" or scenario == "admin_search" then
    sessions = words(os.getenv("BENCH_HELPDESK_SESSIONS"))
  elseif scenario == "home" then
    sessions = words(os.getenv("BENCH_TEACHER_SESSIONS"))
  elseif scenario == "list" or scenario == "search" then
    sessions = words(os.getenv("BENCH_HOLDER_SESSIONS"))
  elseif scenario == "create_smtp_up" or scenario == "create_smtp_down" then
    sessions = words(os.getenv("BENCH_CREATOR_SESSIONS"))
  end
end

-- A distinct client address per request (a school each), as the proxy would report it.
local function forwarded_for()
  local n = id * 1000000 + counter
  return string.format("10.%d.%d.%d", 100 + id, math.floor(n / 250) % 250, n % 250 + 1)
end

local function session_cookie()
  return "sessionid=" .. sessions[(counter + id) % #sessions + 1]
end

local csrf_cookie = "csrftoken=" .. (os.getenv("BENCH_CSRF_COOKIE") or "")
local csrf_token = os.getenv("BENCH_CSRF_TOKEN") or ""
local peer_csrf_cookie = "csrftoken=" .. (os.getenv("BENCH_PEER_CSRF_COOKIE") or "")
local peer_csrf_token = os.getenv("BENCH_PEER_CSRF_TOKEN") or ""
local admin_terms = words(os.getenv("BENCH_ADMIN_SEARCH"))
local origin = "https://" .. (host or "")

-- wrk.format() sends only the headers it is given (plus Host), so each request gets all of
-- them here, including what the TLS proxy adds.
local function headers(cookie)
  local list = {
    ["X-Forwarded-Proto"] = "https",
    ["X-Forwarded-For"] = forwarded_for(),
    ["User-Agent"] = "portal-bench/1 (wrk)",
  }
  if cookie then list["Cookie"] = cookie end
  return list
end

local function post(path, cookie, body)
  local list = headers(cookie)
  list["Content-Type"] = "application/x-www-form-urlencoded"
  list["Origin"] = origin
  return wrk.format("POST", path, list, body)
end

local function get(path, cookie)
  return wrk.format("GET", path, headers(cookie))
end

-- ---------------------------------------------------------------- the scenarios
local build = {
  sign_in = function()
    -- Threads walk the shuffled pool from different ends, so an account signs in at most
    -- once per pass and per-account rows (last_login, axes) do not queue behind each other.
    local user = users[(id * math.floor(#users / 2) + counter) % #users + 1]
    return post("/login/", csrf_cookie, "csrfmiddlewaretoken=" .. csrf_token
      .. "&username=" .. user .. "&password=" .. os.getenv("BENCH_PASSWORD")
      .. "&captcha_0=bench&captcha_1=PASSED")
  end,
  -- The stock django-allauth peer (bench/peer/): its login form, the same pool walk.
  peer_sign_in = function()
    local user = users[(id * math.floor(#users / 2) + counter) % #users + 1]
    return post("/accounts/login/", peer_csrf_cookie, "csrfmiddlewaretoken=" .. peer_csrf_token
      .. "&login=" .. user .. "&password=" .. os.getenv("BENCH_PEER_PASSWORD"))
  end,
  home = function() return get("/", session_cookie()) end,
  -- Helpdesk in the Django admin: the account changelist a page at a time (as many pages
  -- as the holder's list has), and its search by a login name, a name, an e-mail address
  -- and a unit code in turn.
  admin_list = function()
    -- The changelist offers the first 1,000 rows (20 pages): at most as many as the holder's.
    local pages = math.min(tonumber(os.getenv("BENCH_HOLDER_PAGES")) or 1, 20)
    return get("/admin/accounts/account/?p=" .. (counter % pages + 1), session_cookie())
  end,
  admin_search = function()
    local term = admin_terms[counter % #admin_terms + 1]
    return get("/admin/accounts/account/?q=" .. term, session_cookie())
  end,
  list = function()
    local pages = tonumber(os.getenv("BENCH_HOLDER_PAGES")) or 1
    return get("/manage/accounts/?page=" .. (counter % pages + 1), session_cookie())
  end,
  search = function()
    return get("/manage/accounts/?q=" .. os.getenv("BENCH_SEARCH"), session_cookie())
  end,
  guest_home = function() return get("/") end,
  bare = function() return get("/bench/bare/") end,
  create = function()
    local localpart = string.format("%s-t%d-%d", os.getenv("BENCH_RUN"), id, counter)
    return post("/manage/accounts/new/", csrf_cookie .. "; " .. session_cookie(),
      "csrfmiddlewaretoken=" .. csrf_token .. "&local_part=" .. localpart
      .. "&full_name=%E6%B8%AC%E8%A9%A6%E6%95%99%E5%B8%AB"                -- 測試教師
      .. "&office=%E6%95%99%E5%8B%99%E8%99%95&title=%E7%B5%84%E9%95%B7"   -- 教務處, 組長
      .. "&phone=049-2910960%233765&email=" .. localpart .. "%40bench.edu.tw"
      .. "&stations=" .. os.getenv("BENCH_STATION")
      .. "&captcha_0=bench&captcha_1=PASSED")
  end,
}
build.create_smtp_up = build.create
build.create_smtp_down = build.create

-- Where a successful form post redirects to.
local success_location = {
  sign_in = "/",
  peer_sign_in = "/",
  create_smtp_up = "/manage/accounts/",
  create_smtp_down = "/manage/accounts/",
}

function request()
  counter = counter + 1
  return build[scenario]()
end

function response(status, headers, body)
  local expected = success_location[scenario]
  local good
  if expected then
    good = status == 302 and headers["Location"] == expected
  else
    good = status == 200
  end
  if good then
    ok = ok + 1
  else
    local key = tostring(status)
    if headers["Location"] then key = key .. " " .. headers["Location"] end
    bad[key] = (bad[key] or 0) + 1
  end
  local q = headers["X-Queries"]
  if q then queries[q] = (queries[q] or 0) + 1 end
end

-- ---------------------------------------------------------------- the summary
local function encode(value)
  if type(value) == "table" then
    local parts = {}
    for k, v in pairs(value) do
      parts[#parts + 1] = string.format("%q:%s", tostring(k), encode(v))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif type(value) == "string" then
    return string.format("%q", value)
  end
  return tostring(value)
end

local function merge(into, from)
  for k, v in pairs(from or {}) do into[k] = (into[k] or 0) + v end
end

function done(summary, latency, requests)
  local total_ok, total_bad, total_queries = 0, {}, {}
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    merge(total_bad, thread:get("bad"))
    merge(total_queries, thread:get("queries"))
  end
  local out = io.open(os.getenv("BENCH_OUT"), "w")
  out:write(encode({
    scenario = scenario,
    duration_s = summary.duration / 1e6,
    responses = summary.requests,
    ok = total_ok,
    bad = total_bad,
    socket_errors = summary.errors,
    queries = total_queries,
    p50_ms = latency:percentile(50) / 1000,
    p99_ms = latency:percentile(99) / 1000,
    max_ms = latency.max / 1000,
  }))
  out:close()
end
