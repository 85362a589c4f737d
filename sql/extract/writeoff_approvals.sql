-- writeoff_approvals: the write-offs approved on or before the run date as_of (a bound
-- parameter): which item (company code and document number), the proposal it approves when
-- known, who approved it and when. Optional: without an erp_writeoff_approvals table the run
-- goes on without approvals (every proposal stays PROPOSED). See docs/close.md.
SELECT company_code, document_no, proposal_id, approved_by, approved_on
FROM erp_writeoff_approvals
WHERE approved_on <= :as_of
ORDER BY company_code, document_no
