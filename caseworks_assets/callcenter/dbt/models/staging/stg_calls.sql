-- One row per call. A call exported twice keeps one row; a call first exported without its final
-- status keeps the later row that has it (rows with a status beat rows without, then the latest row).
with ranked as (
    select
        *,
        row_number() over (
            partition by id
            order by case when queue_log_verb_types_id is null then 1 else 0 end, source_line desc
        ) as row_rank
    from {{ source('callcenter_raw', 'raw_call_history_queue') }}
)

select
    id as call_id,
    created_at,
    cast(created_at as date) as call_date,
    duration,
    wait,
    team_id,
    user_id,
    lines_id as line_id,
    token,
    ddd,
    uf,
    queue_log_modality_types_id as modality_id,
    queue_log_verb_types_id as final_status_id
from ranked
where row_rank = 1
