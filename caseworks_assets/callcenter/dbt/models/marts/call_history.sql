{#-
  One row per call, with its modality, final status and media named. Incremental by day: a run with
  vars start_date/end_date rebuilds the days [start_date, end_date) and replaces those days only
  (DuckDB: delete+insert on call_date; BigQuery: insert_overwrite of the call_date partitions).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy=('insert_overwrite' if target.type == 'bigquery' else 'delete+insert'),
        unique_key=(none if target.type == 'bigquery' else 'call_date'),
        partition_by=({'field': 'call_date', 'data_type': 'date'} if target.type == 'bigquery' else none),
        on_schema_change='fail',
    )
}}

select
    calls.call_id,
    calls.call_date,
    cast({{ dbt.date_trunc('month', 'calls.created_at') }} as date) as call_month,
    calls.created_at,
    calls.duration,
    calls.wait,
    calls.team_id,
    calls.user_id,
    calls.line_id,
    media.midia,
    calls.token,
    calls.ddd,
    calls.uf,
    calls.modality_id,
    modality.description as modality,
    lower(modality.description) = 'entrada' as is_inbound,
    calls.final_status_id,
    coalesce(status.description, 'Sem status') as final_status
from {{ ref('stg_calls') }} as calls
left join {{ ref('stg_telephony_types') }} as modality
    on calls.modality_id = modality.telephony_type_id
left join {{ ref('stg_telephony_types') }} as status
    on calls.final_status_id = status.telephony_type_id
left join {{ ref('marketing_details') }} as media
    on calls.line_id = media.line_id
{% if var('start_date') %}
where calls.call_date >= cast('{{ var("start_date") }}' as date)
  and calls.call_date < cast('{{ var("end_date") }}' as date)
{% endif %}
