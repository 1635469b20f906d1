using System;
using System.Collections.Generic;
namespace Demo {
    /// <summary>Counts.</summary>
    public class Counter {
        public int Count(List<int> xs) {
            foreach (var x in xs) { if (x > 0 && x < 9) return x; }
            return xs.Count > 0 ? 1 : 0;
        }
        private void Reset() { Console.WriteLine("r"); }
    }
    interface IShape { double Area(); }
}
