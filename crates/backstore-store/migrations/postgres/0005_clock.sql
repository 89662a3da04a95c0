-- How far the server clock is ahead of the system clock (`backstore clock advance`), shared by
-- every process on the database.
CREATE TABLE server_clock (
    id                   BIGINT PRIMARY KEY CHECK (id = 1),
    offset_micros        BIGINT NOT NULL
);
INSERT INTO server_clock (id, offset_micros) VALUES (1, 0);
