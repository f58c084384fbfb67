package jdiffusion.tornado;

import jdiffusion.Golden;
import jdiffusion.kernels.ScalarBackend;
import jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static jdiffusion.tornado.SharedBackend.random;

class SmokeTest {
    @Test
    void ops() {
        var t = SharedBackend.get();
        var s = new ScalarBackend();
        Tensor x = random(1, 2, 8, 5, 7), w = random(2, 6, 8, 3, 3), b = random(3, 6);
        report("conv", t.conv2d(x, w, b, 1, 1, 1, 1, 1), s.conv2d(x, w, b, 1, 1, 1, 1, 1));
        Tensor lx = random(4, 3, 5, 10), lw = random(5, 7, 10), lb = random(6, 7);
        report("linear", t.linear(lx, lw, lb), s.linear(lx, lw, lb));
        Tensor g = random(7, 8), be = random(8, 8);
        report("groupNorm", t.groupNorm(x, 4, g, be, 1e-5f, true), s.groupNorm(x, 4, g, be, 1e-5f, true));
        report("silu", t.silu(x), s.silu(x));
        report("toTokens", t.toTokens(x), s.toTokens(x));
        Tensor q = random(9, 2, 11, 12), k = random(10, 2, 13, 12), v = random(11, 2, 13, 12);
        report("attention", t.attention(q, k, v, 3, 0.5f), s.attention(q, k, v, 3, 0.5f));
        System.out.println(t.stats());
    }

    static void report(String what, Tensor a, Tensor b) {
        System.out.printf("%-10s rel %.2e%n", what, Golden.relL2(a, b));
    }
}
