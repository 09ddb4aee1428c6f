"""避難情報 on the overview: warnings banner, KPI tile, decision support, issue and lift."""
