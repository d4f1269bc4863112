package org.example.airgap;

import org.apache.flink.table.functions.ScalarFunction;

/** The connector-style JAR of the runtime tests: reaches lib/ only through files/libs and the libs image. */
public class Shout extends ScalarFunction {
    public String eval(String text) {
        return text == null ? null : text.toUpperCase() + "!";
    }
}
