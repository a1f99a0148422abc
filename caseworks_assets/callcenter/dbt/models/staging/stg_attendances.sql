-- One row per attendance (the latest row of an id exported twice).
with ranked as (
    select
        *,
        row_number() over (partition by id order by source_line desc) as row_rank
    from {{ source('callcenter_raw', 'raw_attendances') }}
)

select
    id as attendance_id,
    customer_id,
    status_id,
    type_id,
    monthly_value
from ranked
where row_rank = 1
