-- The keys of every schedule class of a provider, as poll-schedule.ts builds them (scheduleKey).
local function dueKeys(P, provider)
  return {P .. ':due:' .. provider .. ':new', P .. ':due:' .. provider .. ':failing', P .. ':due:' .. provider .. ':healthy'}
end
