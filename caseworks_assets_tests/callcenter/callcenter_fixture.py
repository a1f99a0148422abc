"""A hand-made callcenter input folder small enough to answer the five questions by hand.

Six calls over three days (2024-03-04..06); call 2 exported twice; call 4 first
without its final status, its final row later; call 5 without team or agent,
call 6 without agent and with an unreadable ``wait``; a row whose id is not a
number; line 30 without a marketing row; attendances on calls 1, 2, 4 and 5
(A103 also transferred to call 1, A104 on a token of no call).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

FILES = {
    "telephony_types": """id,description
1,Entrada
2,Saída
11,Atendida
12,Abandonada
""",
    "lines_mkt_final": """line_id,midia,campanha,fonte,pagina,dominio
 10 ,CPC,c1,google,/a,x.com.br
20,sms,c2,sms,/b,x.com.br
""",
    "call_history_queue": "id,created_at,duration,wait,team_id,user_id,lines_id,token,ddd,uf,"
    "queue_log_modality_types_id,queue_log_verb_types_id\n"
    """1,2024-03-04 09:00:00,100,5,1,11,10,t1,11,SP,1,11
2,2024-03-04 10:00:00,200,5,1,12,20,t2,21,RJ,1,12
3,2024-03-04 11:00:00,300,5,2,21,30,t3,31,MG,2,11
4,2024-03-05 09:00:00,50.0,5,1,11,10,t4,11,SP,1,
5,2024-03-05 10:00:00,150,5,,,20,t5,41,PR,2,11
6,2024-03-06 09:00:00, 60 ,xx,2,,10,t6,51,RS,1,11
abc,2024-03-06 10:00:00,10,5,2,21,10,t7,51,RS,1,11
2,2024-03-04 10:00:00,200,5,1,12,20,t2,21,RJ,1,12
4,2024-03-05 09:00:00,50,5,1,11,10,t4,11,SP,1,11
""",
    "attendances": """id,customer_id,status_id,type_id,monthly_value
100,9001,1,1,100.00
101,9002,1,1,"R$ 50,00"
102,9003,1,2,
103,9004,1,1,80
104,9005,1,1,30
""",
    "attendances_calls": """id,attendance_id,token,main_connection,line_id
1,100,t1,true,10
2,101,t4,1,10
3,102,t2,true,20
4,103,t5,true,20
5,103,t1,false,10
6,104,t999,true,10
""",
}

FIRST_DAY, LAST_DAY = "2024-03-04", "2024-03-06"
RAW_ROWS = {"call_history_queue": (9, 8, 1)}  # read, loaded, quarantined (the id "abc")


def write_fixture(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, text in FILES.items():
        (folder / f"{table}.csv").write_text(text, encoding="utf-8")
    return folder


D = date.fromisoformat
EXPECTED = {
    "calls_per_day": pl.DataFrame(
        {"call_date": [D("2024-03-04"), D("2024-03-05"), D("2024-03-06")], "calls": [3, 2, 1],
         "avg_duration_s": [200.0, 100.0, 60.0]}
    ),
    "agent_share": pl.DataFrame(
        {"team_id": [1, 1, 2, 2], "user_id": [11, 12, 21, None], "calls": [2, 1, 1, 1], "team_calls": [3, 3, 2, 2],
         "share": [2 / 3, 1 / 3, 0.5, 0.5]}
    ),
    "ticket_per_media": pl.DataFrame(
        {"midia": ["CPC", "SMS", "UNKNOWN"], "calls": [3, 2, 1], "sales": [2, 1, 0],
         "sales_value": [150.0, 80.0, None], "avg_sale_ticket": [75.0, 80.0, None],
         "avg_call_ticket": [50.0, 40.0, 0.0]}
    ),
    "inbound_daily": pl.DataFrame(
        {"call_date": [D("2024-03-04"), D("2024-03-04"), D("2024-03-05"), D("2024-03-06")],
         "final_status": ["Abandonada", "Atendida", "Atendida", "Atendida"], "midia": ["SMS", "CPC", "CPC", "CPC"],
         "calls": [1, 1, 1, 1]}
    ),
    "outbound_monthly": pl.DataFrame(
        {"month": [D("2024-03-01"), D("2024-03-01")], "midia": ["SMS", "UNKNOWN"], "calls": [1, 1]}
    ),
}  # fmt: skip
