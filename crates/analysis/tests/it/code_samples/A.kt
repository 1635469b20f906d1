package demo

import kotlin.math.max

/** A service. */
class Service(val n: Int) {
    fun count(xs: List<Int>): Int {
        for (x in xs) { if (x > 0 && x < 9) return x }
        return when (n) { 1 -> 1; else -> max(n, 2) }
    }
    private fun reset() {}
}

interface Shape { fun area(): Double }
object Registry {}
fun helper() = 1
