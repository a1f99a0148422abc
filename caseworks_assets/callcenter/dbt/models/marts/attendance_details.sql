-- One row per attendance, with the call it belongs to: its main connection (the lowest link id
-- when several are main; the lowest call id when a token names several calls). An attendance whose token names no call keeps a null call_id.
with main_links as (
    select
        attendance_id,
        token,
        line_id,
        row_number() over (partition by attendance_id order by link_id) as link_rank
    from {{ ref('stg_attendances_calls') }}
    where main_connection
),

calls_by_token as (
    select
        token,
        call_id,
        line_id,
        row_number() over (partition by token order by call_id) as call_rank
    from {{ ref('stg_calls') }}
    where token is not null
),

connections as (
    select attendance_id, count(*) as connections
    from {{ ref('stg_attendances_calls') }}
    group by attendance_id
)

select
    attendances.attendance_id,
    attendances.customer_id,
    attendances.status_id,
    attendances.type_id,
    attendances.type_id = 1 as is_sale,
    attendances.monthly_value,
    main_links.token as call_token,
    calls.call_id,
    coalesce(calls.line_id, main_links.line_id) as line_id,
    coalesce(connections.connections, 0) as connections
from {{ ref('stg_attendances') }} as attendances
left join main_links
    on attendances.attendance_id = main_links.attendance_id and main_links.link_rank = 1
left join calls_by_token as calls
    on main_links.token = calls.token and calls.call_rank = 1
left join connections
    on attendances.attendance_id = connections.attendance_id
