/*
 * AppConfig.java - sphere-aae-app-config.json as `sphere_aae package` writes it
 * (dist/bundle/, copied into the module's assets/):
 *   {"model_list": [{"model_id", "model_lib", "model_path" | "model_url",
 *                    "estimated_vram_bytes"}]}
 * model_path is relative to the bundle folder; model_url is for weights the app
 * downloads itself.
 */
package ai.sphere_aae;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

public final class AppConfig {
    public static final String FILE_NAME = "sphere-aae-app-config.json";

    public static final class ModelRecord {
        public final String modelId;
        public final String modelLib;
        public final String modelPath; /* null when the weights are not bundled */
        public final String modelUrl;  /* null when they are */
        public final long estimatedVramBytes;

        ModelRecord(Map<String, Object> m) {
            modelId = Json.str(m, "model_id");
            modelLib = Json.str(m, "model_lib");
            modelPath = Json.str(m, "model_path");
            modelUrl = Json.str(m, "model_url");
            estimatedVramBytes = Json.num(m, "estimated_vram_bytes", 0);
        }
    }

    public final List<ModelRecord> modelList;

    private AppConfig(List<ModelRecord> l) {
        modelList = Collections.unmodifiableList(l);
    }

    public static AppConfig parse(String json) {
        Map<String, Object> root = Json.obj(Json.parse(json));
        List<Object> a = root == null ? null : Json.arr(root.get("model_list"));
        if (a == null) {
            throw new IllegalArgumentException(FILE_NAME + ": expected {\"model_list\": [...]}");
        }
        List<ModelRecord> l = new ArrayList<>();
        for (int k = 0; k < a.size(); k++) {
            Map<String, Object> m = Json.obj(a.get(k));
            if (m == null || Json.str(m, "model_id") == null || Json.str(m, "model_lib") == null) {
                throw new IllegalArgumentException(FILE_NAME + ": /model_list/" + k
                        + ": expected an object with model_id and model_lib");
            }
            l.add(new ModelRecord(m));
        }
        return new AppConfig(l);
    }
}
