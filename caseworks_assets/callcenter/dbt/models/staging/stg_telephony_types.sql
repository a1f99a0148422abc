-- Modalities and final statuses, one row per id (the first row of an id exported twice).
with ranked as (
    select
        *,
        row_number() over (partition by id order by source_line) as row_rank
    from {{ source('callcenter_raw', 'raw_telephony_types') }}
)

select
    id as telephony_type_id,
    trim(description) as description
from ranked
where row_rank = 1
