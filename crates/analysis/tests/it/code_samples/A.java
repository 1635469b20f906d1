package com.example;

import java.util.List;
import static java.lang.Math.max;

/** A service. */
public class Service {
    private int count;

    /** Counts. */
    public int count(List<String> items) {
        int n = 0;
        for (String s : items) {
            if (s != null && !s.isEmpty()) { n++; }
        }
        switch (n) { case 1: return 1; default: return n > 2 ? max(n, 2) : 0; }
    }

    private Service() {}

    interface Listener { void on(); }
}
