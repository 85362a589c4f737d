-- fx_rates: the rates known on the run date as_of (a bound parameter); the run takes each
-- currency's latest rate on or before it.
-- Tables and column types: see open_items.sql and docs/operations.md "SQL sources".
SELECT currency, rate_to_base, rate_date
FROM erp_fx_rates
WHERE rate_date <= :as_of
ORDER BY currency, rate_date
