/*
 * MainActivity.java - SphereAaeChat: one screen, a transcript, a text field, Send and
 * Stop. The first model of sphere-aae-app-config.json with bundled weights is loaded
 * (weights pushed with adb to the app's external files folder are used first; else
 * the APK's copy is unpacked once into the files folder, where the runtime maps it).
 * Answers stream in through engine.chat.completions.create; Stop aborts.
 */
package ai.sphere_aae.chat;

import android.app.Activity;
import android.content.res.AssetManager;
import android.os.Bundle;
import android.view.ViewGroup;
import android.widget.Button;
import android.widget.EditText;
import android.widget.LinearLayout;
import android.widget.ScrollView;
import android.widget.TextView;

import ai.sphere_aae.AAEEngine;
import ai.sphere_aae.AppConfig;
import ai.sphere_aae.ChatCompletionChunk;
import ai.sphere_aae.ChatCompletionMessage;
import ai.sphere_aae.ChatCompletionRequest;
import ai.sphere_aae.ChatCompletionStream;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

public class MainActivity extends Activity {
    private final ExecutorService background = Executors.newSingleThreadExecutor();
    private final List<ChatCompletionMessage> history = new ArrayList<>();
    private AAEEngine engine;
    private TextView transcript;
    private ScrollView scroll;
    private EditText input;
    private Button send;

    @Override
    protected void onCreate(Bundle state) {
        super.onCreate(state);
        buildUi();
        send.setEnabled(false);
        background.execute(this::loadModel);
    }

    @Override
    protected void onDestroy() {
        if (engine != null) {
            engine.close(); /* aborts a running answer and frees the model */
        }
        background.shutdown();
        super.onDestroy();
    }

    private void buildUi() {
        LinearLayout root = new LinearLayout(this);
        root.setOrientation(LinearLayout.VERTICAL);
        transcript = new TextView(this);
        transcript.setTextIsSelectable(true);
        transcript.setPadding(24, 24, 24, 24);
        scroll = new ScrollView(this);
        scroll.addView(transcript);
        root.addView(scroll, new LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 0, 1));
        LinearLayout row = new LinearLayout(this);
        input = new EditText(this);
        input.setHint("Message");
        row.addView(input, new LinearLayout.LayoutParams(0, ViewGroup.LayoutParams.WRAP_CONTENT, 1));
        send = new Button(this);
        send.setText("Send");
        send.setOnClickListener(v -> onSend());
        row.addView(send);
        Button stop = new Button(this);
        stop.setText("Stop");
        stop.setOnClickListener(v -> {
            if (engine != null) engine.abort(); /* any thread, never waits */
        });
        row.addView(stop);
        root.addView(row);
        setContentView(root);
    }

    private void append(String text) {
        runOnUiThread(() -> {
            transcript.append(text);
            scroll.post(() -> scroll.fullScroll(ScrollView.FOCUS_DOWN));
        });
    }

    private void loadModel() {
        try {
            AppConfig config = AppConfig.parse(readAsset(AppConfig.FILE_NAME));
            AppConfig.ModelRecord model = null;
            for (AppConfig.ModelRecord m : config.modelList) {
                if (m.modelPath != null) {
                    model = m;
                    break;
                }
            }
            if (model == null) {
                append("No model with bundled weights in " + AppConfig.FILE_NAME + ".\n");
                return;
            }
            append("Loading " + model.modelId + " ...\n");
            File dir = modelDir(model.modelPath);
            engine = new AAEEngine();
            engine.reload(dir.getAbsolutePath(), model.modelLib);
            append("Ready.\n\n");
            runOnUiThread(() -> send.setEnabled(true));
        } catch (Exception e) {
            append("Cannot load the model: " + e.getMessage() + "\n");
        }
    }

    private void onSend() {
        String text = input.getText().toString().trim();
        if (text.isEmpty() || engine == null) return;
        input.setText("");
        send.setEnabled(false);
        history.add(ChatCompletionMessage.user(text));
        append("You: " + text + "\nModel: ");
        ChatCompletionRequest request = new ChatCompletionRequest().messages(history).maxTokens(512);
        background.execute(() -> {
            StringBuilder answer = new StringBuilder();
            try (ChatCompletionStream stream = engine.chat.completions.create(request)) {
                for (ChatCompletionChunk chunk : stream) {
                    String piece = chunk.content();
                    answer.append(piece);
                    if (!piece.isEmpty()) append(piece);
                }
                ChatCompletionChunk.Usage u = stream.usage();
                if (u != null) {
                    Object tps = u.extra.get("decode_tokens_per_s");
                    append("\n[" + stream.finishReason() + ", " + u.completionTokens + " tokens"
                            + (tps != null ? String.format(", %.1f tok/s", ((Number) tps).doubleValue()) : "")
                            + "]\n\n");
                }
            } catch (RuntimeException e) {
                append("\n[error: " + e.getMessage() + "]\n\n");
            }
            history.add(ChatCompletionMessage.assistant(answer.toString()));
            runOnUiThread(() -> send.setEnabled(true));
        });
    }

    /* --------------------------------------------------------------- weights --- */

    /** Weights pushed with adb (external files folder) win; else the APK's copy, unpacked once. */
    private File modelDir(String modelPath) throws IOException {
        File ext = getExternalFilesDir(null);
        File pushed = ext == null ? null : new File(ext, "bundle/" + modelPath);
        if (pushed != null && new File(pushed, "tensor-cache.json").isFile()) {
            return pushed;
        }
        File dir = new File(getFilesDir(), "bundle/" + modelPath);
        File done = new File(dir, ".unpacked");
        if (done.isFile()) return dir;
        AssetManager am = getAssets();
        String[] names = am.list(modelPath);
        if (names == null || names.length == 0) {
            throw new IOException(modelPath + " is neither in the APK's assets nor in " + pushed);
        }
        if (!dir.isDirectory() && !dir.mkdirs()) throw new IOException("cannot create " + dir);
        byte[] buf = new byte[1 << 20];
        for (String name : names) {
            try (InputStream in = am.open(modelPath + "/" + name);
                 OutputStream out = new FileOutputStream(new File(dir, name))) {
                int n;
                while ((n = in.read(buf)) > 0) out.write(buf, 0, n);
            }
        }
        if (!done.createNewFile() && !done.isFile()) throw new IOException("cannot create " + done);
        return dir;
    }

    private String readAsset(String name) throws IOException {
        try (InputStream in = getAssets().open(name)) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) b.write(buf, 0, n);
            return new String(b.toByteArray(), StandardCharsets.UTF_8);
        }
    }
}
