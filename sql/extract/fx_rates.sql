SELECT currency, rate_to_base, rate_date
FROM erp_fx_rates
WHERE rate_date <= :as_of
