package jdiffusion.kernels;
public class P {
    public static void main(String[] a) throws Exception {
        Parallel par = new Parallel(2);
        java.util.Random r = new java.util.Random(1);
        int n = Integer.parseInt(a[0]), cin = Integer.parseInt(a[1]), h = Integer.parseInt(a[2]), w = h, cout = Integer.parseInt(a[3]);
        float[] x = new float[n * cin * h * w], wt = new float[cout * cin * 9], out = new float[n * cout * h * w];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        for (int i = 0; i < wt.length; i++) wt[i] = r.nextFloat();
        float[] u = Winograd.transformWeights(par, MatA.of(wt, 0, cin * 9), cout, cin);
        long end = System.nanoTime() + 4_000_000_000L;
        while (System.nanoTime() < end) Winograd.conv(par, x, n, cin, h, w, 1, 1, u, null, cout, h, w, out);
        double best = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            int it = 0; long t0 = System.nanoTime();
            while (System.nanoTime() - t0 < 400_000_000L) { Winograd.conv(par, x, n, cin, h, w, 1, 1, u, null, cout, h, w, out); it++; }
            best = Math.min(best, (System.nanoTime() - t0) / 1e6 / it);
        }
        System.out.printf("%s n%d cin%d h%d cout%d best ms/call %.3f  out[7]=%s%n", a[4], n, cin, h, cout, best, Float.toString(out[7]));
        par.close();
    }
}
