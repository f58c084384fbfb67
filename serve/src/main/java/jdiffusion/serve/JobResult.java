package jdiffusion.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdiffusion.image.Images;
import jdiffusion.sample.Trace;
import jdiffusion.tensor.Tensor;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A job's images and trace. {@code grid} is byte for byte the PNG {@code generate --out} writes for the
 * same settings ({@link Images#picture}: the image itself for one, else the same grid; the same ImageIO
 * encoder); {@code pngs} are the single images at
 * the model's size.
 *
 * @param images        [N, C, H, W] in [−1, 1]
 * @param trace         this job's share of the batch's trace (MACs counted for its own images)
 * @param batchImages   images in the UNet batch it ran in
 * @param batchRequests requests in that batch
 */
public record JobResult(Tensor images, Trace trace, int batchImages, int batchRequests, byte[] grid, List<byte[]> pngs) {

    public static JobResult of(Tensor images, Trace trace, int batchImages, int batchRequests) {
        int n = images.dim(0);
        byte[] grid = png(Images.picture(images));
        List<byte[]> pngs = new ArrayList<>();
        for (int k = 0; k < n; k++) pngs.add(png(Images.image(images, k)));
        return new JobResult(images, trace, batchImages, batchRequests, grid, List.copyOf(pngs));
    }

    static byte[] png(BufferedImage img) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer");
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding failed: " + e.getMessage(), e);
        }
    }

    /** The response_format=json body (and the SSE "done" event). */
    public ObjectNode toJson(Job job) {
        ImageRequest r = job.request();
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("id", job.id());
        o.put("model", r.model().name());
        o.put("seed", r.seed());
        o.put("steps", r.steps());
        o.put("scheduler", r.schedulerName());
        o.put("accel", r.accel().id());
        if (!Double.isNaN(r.guidance())) o.put("guidance", r.guidance());
        o.put("width", images.dim(3));
        o.put("height", images.dim(2));
        Base64.Encoder b64 = Base64.getEncoder();
        o.put("grid", b64.encodeToString(grid));
        ArrayNode imgs = o.putArray("images");
        for (int k = 0; k < pngs.size(); k++) {
            ObjectNode i = imgs.addObject();
            i.put("index", k);
            if (r.classes() != null) i.put("class", r.model().pipeline().classes().classNames().get(r.classes()[k]));
            i.put("png", b64.encodeToString(pngs.get(k)));
        }
        ObjectNode t = trace.toJson();
        t.put("skipped_steps", trace.skippedSteps());
        o.set("trace", t);
        o.putObject("batch").put("images", batchImages).put("requests", batchRequests);
        return o;
    }
}
