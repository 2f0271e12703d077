-- Argo CD health of sip.voipbin.net Domains and Extensions (one script serves both:
-- they report the same conditions). Argo CD passes the object as `obj`.
--   Healthy      Ready=True, and the operator has seen the current generation.
--   Progressing  no status yet, a generation the operator has not seen, Reconciling=True,
--                or Ready=False for a reason that resolves by itself (a Domain not yet
--                created or not yet Ready, a change being applied).
--   Degraded     Stalled=True, or Ready=False for a reason only a user can fix
--                (a conflicting claim, a missing password Secret or key).
local hs = {}

-- Reasons of Ready=False that need a change from the user (api/v1alpha1/conditions.go).
local terminal = { Conflict = true, PasswordSecretNotFound = true, PasswordKeyNotFound = true }

local function condition(conditions, type)
  for _, c in ipairs(conditions or {}) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function describe(c)
  local reason = c.reason or c.type
  if c.message ~= nil and c.message ~= "" then
    return reason .. ": " .. c.message
  end
  return reason
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the " .. obj.kind
  return hs
end

local generation = obj.metadata.generation or 0
local observed = obj.status.observedGeneration or 0
if observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation .. " (observed " .. observed .. ")"
  return hs
end

local ready = condition(obj.status.conditions, "Ready")
local stalled = condition(obj.status.conditions, "Stalled")

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if ready.status == "False" and terminal[ready.reason] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end
-- Ready is False for a waiting reason (Progressing, DomainNotFound, DomainNotReady;
-- the operator then sets Reconciling=True too), or Ready is Unknown.
hs.status = "Progressing"
hs.message = describe(ready)
return hs
