-- plan_instalments: the instalments of the payment plans agreed on or before the run date
-- as_of (a bound parameter): what each plan has due by which date.
-- Optional: without an erp_plan_instalments table the run goes on without payment plans.
-- Tables and column types: see open_items.sql and docs/casework.md.
SELECT i.plan_id, i.seq, i.due_date, i.amount
FROM erp_plan_instalments i
JOIN erp_payment_plans p ON p.plan_id = i.plan_id
WHERE p.agreed_on <= :as_of
ORDER BY i.plan_id, i.seq
