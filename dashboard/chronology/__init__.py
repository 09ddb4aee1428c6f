"""The chronology (クロノロジー) page: quick entry, the timeline, tasks, printing, the wall view."""
