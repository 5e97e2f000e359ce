"""The line's figures: KPIs from call and callback facts (`kpis`) and the Erlang C
staffing model behind their staffing suggestion (`erlang`). Pure functions, no I/O."""
