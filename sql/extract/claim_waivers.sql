-- claim_waivers: the fee and interest claims waived on or before the run date as_of (a bound
-- parameter): the claim (claim_id as the claims table names it), who waived it, when and why.
-- Optional: without an erp_claim_waivers table the run goes on without waivers. See docs/close.md.
SELECT claim_id, waived_by, waived_on, reason
FROM erp_claim_waivers
WHERE waived_on <= :as_of
ORDER BY claim_id
