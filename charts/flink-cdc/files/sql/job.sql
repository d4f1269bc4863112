-- MSSQL CDC -> Kafka. ${VAR} placeholders are filled in the bootstrap Job at run time from
-- its environment (values.env and the MSSQL credentials secret); they are never rendered
-- into a ConfigMap.

-- Create source table from MSSQL CDC
CREATE TABLE source_table (
    id INT,
    name STRING,
    description STRING,
    modified_at TIMESTAMP(3),
    PRIMARY KEY (id) NOT ENFORCED
) WITH (
    'connector' = 'sqlserver-cdc',
    'hostname' = '${MSSQL_SERVER}',
    'port' = '${MSSQL_PORT}',
    'username' = '${MSSQL_USERNAME}',
    'password' = '${MSSQL_PASSWORD}',
    'database-name' = '${MSSQL_DATABASE}',
    'table-name' = 'dbo.source_table',
    'debezium.snapshot.mode' = 'initial'
);

-- Create Kafka sink table
CREATE TABLE sink_table (
    id INT,
    name STRING,
    description STRING,
    modified_at TIMESTAMP(3),
    PRIMARY KEY (id) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'sink_topic',
    'properties.bootstrap.servers' = '${KAFKA_BROKERS}',
    'key.format' = 'json',
    'value.format' = 'json'
);

-- Create and execute the CDC job
INSERT INTO sink_table
SELECT id, name, description, modified_at
FROM source_table;
