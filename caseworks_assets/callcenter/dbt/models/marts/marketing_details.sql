-- One row per line a call came through or marketing describes. A line without a marketing row is
-- kept with media UNKNOWN, so every call has its line here (a relationship the tests assert).
with lines as (
    select line_id from {{ ref('stg_lines') }}
    union distinct
    select line_id from {{ ref('stg_calls') }} where line_id is not null
)

select
    lines.line_id,
    coalesce(marketing.midia, 'UNKNOWN') as midia,
    marketing.campanha,
    marketing.fonte,
    marketing.pagina,
    marketing.dominio,
    marketing.line_id is not null as has_marketing
from lines
left join {{ ref('stg_lines') }} as marketing
    on lines.line_id = marketing.line_id
