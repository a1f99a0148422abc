-- Links of attendances to call tokens, one row per link id; main_connection null counts as not main.
with ranked as (
    select
        *,
        row_number() over (partition by id order by source_line desc) as row_rank
    from {{ source('callcenter_raw', 'raw_attendances_calls') }}
)

select
    id as link_id,
    attendance_id,
    token,
    coalesce(main_connection, false) as main_connection,
    line_id
from ranked
where row_rank = 1
