-- Marketing attributes per line (the first row of a line exported twice), media upper-cased.
with ranked as (
    select
        *,
        row_number() over (partition by line_id order by source_line) as row_rank
    from {{ source('callcenter_raw', 'raw_lines_mkt_final') }}
)

select
    line_id,
    upper(trim(midia)) as midia,
    campanha,
    fonte,
    pagina,
    dominio
from ranked
where row_rank = 1
