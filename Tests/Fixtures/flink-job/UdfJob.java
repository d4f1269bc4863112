package org.example.airgap;

import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;

/**
 * The runtime tests' Table API job: datagen -> filesystem (json, the image's flink-json), through
 * the Shout UDF, which this JAR does not contain: the cluster must have it in lib/.
 * Arguments: bounded|unbounded OUTPUT_PATH|blackhole, both in streaming mode, so the TaskManagers commit
 * the files themselves (batch mode moves them on the JobManager, which needs a shared file system):
 * bounded writes 100 rows and finishes; unbounded runs until stopped (for savepoints: into a
 * blackhole, as a restored file sink would look for its in-progress files on the old pod's disk).
 */
public class UdfJob {
    public static void main(String[] args) {
        boolean bounded = args[0].equals("bounded");
        TableEnvironment tables = TableEnvironment.create(EnvironmentSettings.inStreamingMode());
        tables.createTemporarySystemFunction("SHOUT", Shout.class);
        tables.executeSql("CREATE TABLE numbers (id BIGINT, name STRING) WITH ('connector' = 'datagen', "
                + (bounded ? "'number-of-rows' = '100', " : "'rows-per-second' = '5', ")
                + "'fields.name.length' = '6')");
        tables.executeSql("CREATE TABLE shouted (id BIGINT, name STRING) WITH ("
                + (args[1].equals("blackhole") ? "'connector' = 'blackhole')"
                        : "'connector' = 'filesystem', 'path' = '" + args[1] + "', 'format' = 'json')"));
        tables.executeSql("INSERT INTO shouted SELECT id, SHOUT(name) FROM numbers");
    }
}
