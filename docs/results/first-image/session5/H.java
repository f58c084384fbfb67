package jdiffusion.kernels;
public class H {
    public static void main(String[] a) throws Exception {
        Parallel par = new Parallel(2);
        java.util.Random r = new java.util.Random(1);
        int n = 2, cin = 8, h = 16, w = 16, cout = 8;
        float[] x = new float[n * cin * h * w], wt = new float[cout * cin * 9], out = new float[n * cout * h * w];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        for (int i = 0; i < wt.length; i++) wt[i] = r.nextFloat();
        float[] u = Winograd.transformWeights(par, MatA.of(wt, 0, cin * 9), cout, cin);
        long end = System.nanoTime() + (long) (Double.parseDouble(a[0]) * 1e9);
        int it = 0;
        while (System.nanoTime() < end) { Winograd.conv(par, x, n, cin, h, w, 1, 1, u, null, cout, h, w, out); it++; }
        System.out.println("iterations " + it);
        par.close();
    }
}
