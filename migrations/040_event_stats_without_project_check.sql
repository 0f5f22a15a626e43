-- event_stats.project_id repeats the project of the row's card (it is there for per-project
-- queries). The user_id foreign key already ties every row to an existing card, whose own foreign
-- key ties it to the project, and deleting a project or a card cascades here through users. The
-- second foreign key checked nothing more, at the price of a lookup for every statistic row that
-- ingestion writes.
ALTER TABLE event_stats DROP CONSTRAINT event_stats_project_id_fkey;
