//! `wgvae serve`'s API over real HTTP: the same PNG as the command line, every failure as
//! JSON with its status, the queue's 503, the body limit and the time limit.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use wgvae::picture::Picture;
use wgvae::serve::{ServeOptions, Server};

/// A response: status, headers (lower-case names) and body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The message of a JSON error body.
    fn error(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)));
        v["error"].as_str().expect("an error field").to_string()
    }
}

/// One HTTP/1.1 request over a fresh connection.
fn request(addr: SocketAddr, method: &str, path: &str, content_type: &str, body: &[u8]) -> Reply {
    request_with(addr, method, path, &[("Content-Type", content_type)], body)
}

/// [`request`] with any `headers`.
fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let fields: String = headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{fields}Content-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // a server may answer (413) before reading all of a large body
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// A part of a form: name, file name (None for a text field), bytes.
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A multipart body of `parts` (name, file name or None for a text field, bytes).
fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "wgvae-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn post(addr: SocketAddr, path: &str, parts: &[Part]) -> Reply {
    let (ct, body) = multipart(parts);
    request(addr, "POST", path, &ct, &body)
}

/// A noisy grey 64x64 photo-like picture as PNG bytes (smooth shapes plus seeded noise).
fn noisy_png(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>) {
    let (h, w) = (64, 64);
    let data = (0..h * w)
        .map(|i| {
            let (y, x) = ((i / w) as f32, (i % w) as f32);
            let v = 0.5 + 0.3 * (x / 9.0).sin() * (y / 13.0).cos();
            let n = 0.08 * wgvae::cpu::rng::normal_at(5, 0, 0, i);
            (v + n).clamp(0.0, 1.0)
        })
        .collect();
    let path = dir.join("noisy.png");
    Picture::new(1, h, w, data).write(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

fn start(options: ServeOptions) -> Option<Server> {
    let ctx = common::gpu()?;
    Some(Server::start(ctx, &ServeOptions { port: 0, ..options }).expect("the server starts"))
}

/// The page, the health check, the models, and restore and enhance answering with the very
/// PNG the command line writes for the same input and settings.
#[test]
fn the_api_answers_as_the_command_line_does() {
    let Some(server) = start(ServeOptions::default()) else {
        return;
    };
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    let page = request(addr, "GET", "/", "text/plain", b"");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&page.body).contains("src=\"app.js\""));
    let script = request(addr, "GET", "/app.js", "text/plain", b"");
    assert_eq!(script.header("content-type"), Some("text/javascript"));
    // the build's tag: a browser holding this build's files is answered 304, without them
    let tag = page.header("etag").expect("an ETag").to_string();
    assert_eq!(script.header("etag"), Some(tag.as_str()));
    let again = request_with(addr, "GET", "/", &[("If-None-Match", &tag)], b"");
    assert_eq!((again.status, again.body.len()), (304, 0));
    let other = request_with(addr, "GET", "/", &[("If-None-Match", "\"0\"")], b"");
    assert_eq!(other.status, 200);
    assert!(String::from_utf8_lossy(&script.body).contains("api/restore"));
    // the browser build, embedded where tools/build-web.sh ran before the build (CI runs it)
    let wasm = request(addr, "GET", "/pkg/wgvae_web_bg.wasm", "text/plain", b"");
    if wgvae::serve::has_browser_build() {
        assert_eq!(wasm.status, 200);
        assert_eq!(wasm.header("content-type"), Some("application/wasm"));
        assert!(wasm.body.starts_with(b"\0asm"));
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI builds the browser build first (tools/build-web.sh), so the server embeds it"
        );
        assert_eq!(wasm.status, 404);
        assert!(
            wasm.error().contains("tools/build-web.sh"),
            "{}",
            wasm.error()
        );
    }
    assert_eq!(
        request(addr, "GET", "/healthz", "text/plain", b"").body,
        b"ok\n"
    );
    let models: serde_json::Value =
        serde_json::from_slice(&request(addr, "GET", "/api/models", "text/plain", b"").body)
            .unwrap();
    let names: Vec<&str> = models
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["digits", "photo-grey", "photo-rgb"]);
    assert_eq!(models[2]["colour"], "colour");
    assert_eq!(models[1]["window"], 12);

    let dir = tempfile::tempdir().unwrap();
    let (input, png) = noisy_png(dir.path());
    for (fields, flags) in [
        (vec![], vec![]),
        (
            vec![("noise_sigma", "0.08"), ("method", "project")],
            vec!["--noise-sigma", "0.08", "--method", "project"],
        ),
        // the PSF sized from sigma as --blur-size's default sizes it
        (
            vec![
                ("blur_sigma", "1.2"),
                ("noise_sigma", "0.02"),
                ("steps", "5"),
            ],
            vec![
                "--blur-sigma",
                "1.2",
                "--noise-sigma",
                "0.02",
                "--steps",
                "5",
            ],
        ),
    ] {
        let mut parts: Vec<Part> = vec![("image", Some("noisy.png"), &png)];
        parts.extend(fields.iter().map(|(n, v)| (*n, None, v.as_bytes())));
        let reply = post(addr, "/api/restore", &parts);
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.header("content-type"), Some("image/png"));
        let out = dir.path().join("cli.png");
        common::succeeds(
            common::cli::wgvae()
                .args(["restore", "-i", input.to_str().unwrap(), "-o"])
                .arg(&out)
                .args(&flags)
                .arg("--force"),
        );
        assert!(
            reply.body == std::fs::read(&out).unwrap(),
            "{flags:?}: not the CLI's PNG"
        );
    }
    let reply = post(
        addr,
        "/api/enhance",
        &[("image", Some("noisy.png"), &png), ("gamma", None, b"1.5")],
    );
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let out = dir.path().join("enhanced.png");
    common::succeeds(
        common::cli::wgvae()
            .args(["enhance", "-i", input.to_str().unwrap(), "-o"])
            .arg(&out)
            .args(["--gamma", "1.5", "--force"]),
    );
    assert!(
        reply.body == std::fs::read(&out).unwrap(),
        "enhance: not the CLI's PNG"
    );
}

/// Each failure has its status and a JSON message; a path is never taken for a model.
#[test]
fn failures_are_json_with_their_status() {
    let Some(server) = start(ServeOptions {
        max_body: 64 * 1024,
        ..ServeOptions::default()
    }) else {
        return;
    };
    let addr = server.addr();
    let dir = tempfile::tempdir().unwrap();
    let (_, png) = noisy_png(dir.path());
    let image = ("image", Some("noisy.png"), png.as_slice());
    let cases: Vec<(Vec<Part>, u16, &str)> = vec![
        (
            vec![image, ("noise_sigma", None, b"-1")],
            400,
            "noise_sigma",
        ),
        (
            vec![image, ("model", None, b"/etc/passwd")],
            400,
            "built-in models only",
        ),
        (vec![image, ("method", None, b"magic")], 400, "method"),
        (
            vec![image, ("brightness", None, b"2")],
            400,
            "unknown field",
        ),
        (
            vec![("noise_sigma", None, b"0.1")],
            400,
            "no part named image",
        ),
        (
            vec![("image", Some("x.png"), b"not a picture")],
            415,
            "image",
        ),
        (
            vec![
                image,
                ("noise_sigma", None, b"0.1"),
                ("salt_pepper", None, b"0.1"),
            ],
            400,
            "unknown field",
        ),
    ];
    for (parts, status, words) in cases {
        let reply = post(addr, "/api/restore", &parts);
        assert_eq!(reply.status, status, "{}", reply.error());
        assert!(reply.error().contains(words), "{}", reply.error());
    }
    // a mask of another size
    let small = Picture::new(1, 8, 8, vec![1.0; 64]);
    let mask_path = dir.path().join("mask.png");
    small.write(&mask_path).unwrap();
    let mask = std::fs::read(&mask_path).unwrap();
    let reply = post(
        addr,
        "/api/restore",
        &[image, ("mask", Some("mask.png"), &mask)],
    );
    assert_eq!(reply.status, 422, "{}", reply.error());
    assert!(reply.error().contains("8x8"), "{}", reply.error());
    let reply = post(addr, "/api/enhance", &[image, ("gamma", None, b"0")]);
    assert_eq!(reply.status, 400, "{}", reply.error());
    // past the body limit
    let big = vec![7u8; 200 * 1024];
    let reply = post(addr, "/api/restore", &[("image", Some("big.png"), &big)]);
    assert_eq!(reply.status, 413, "{}", reply.error());
    let reply = request(addr, "GET", "/no/such/page", "text/plain", b"");
    assert_eq!(reply.status, 404);
    assert!(!reply.error().is_empty());
    // a body that is no form, and a method the path does not take
    let reply = request(addr, "POST", "/api/restore", "image/png", &png);
    assert_eq!(reply.status, 415, "{}", reply.error());
    let reply = request(addr, "GET", "/api/restore", "text/plain", b"");
    assert_eq!(reply.status, 405);
    assert!(
        reply.error().contains("POST /api/restore"),
        "{}",
        reply.error()
    );
}

/// With one request running and the queue full, more are told to come back (503 with
/// Retry-After); a request past the time limit gets 503 too.
#[test]
fn a_full_queue_and_the_time_limit_answer_503() {
    let Some(server) = start(ServeOptions {
        queue: 1,
        ..ServeOptions::default()
    }) else {
        return;
    };
    let addr = server.addr();
    let dir = tempfile::tempdir().unwrap();
    let (_, png) = noisy_png(dir.path());
    // windows one pixel apart (2,809 of them): long enough that four sent together overlap.
    // The first goes ahead alone so that the GPU thread has taken it before the others come:
    // sent at the same instant, two could find it not yet taken and the queue's one place full.
    let statuses: Vec<(u16, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                if i == 1 {
                    std::thread::sleep(Duration::from_millis(500));
                }
                s.spawn(|| {
                    let r = post(
                        addr,
                        "/api/restore",
                        &[
                            ("image", Some("noisy.png"), &png),
                            ("noise_sigma", None, b"0.08"),
                            ("model", None, b"photo-grey"),
                            ("window_step", None, b"1"),
                        ],
                    );
                    (r.status, r.header("retry-after").map(str::to_string))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = statuses.iter().filter(|(s, _)| *s == 200).count();
    let busy: Vec<_> = statuses.iter().filter(|(s, _)| *s == 503).collect();
    assert!(ok >= 2 && !busy.is_empty(), "{statuses:?}");
    assert!(
        busy.iter().all(|(_, r)| r.as_deref() == Some("5")),
        "{statuses:?}"
    );
    drop(server);

    let Some(server) = start(ServeOptions {
        timeout: Duration::from_millis(1),
        ..ServeOptions::default()
    }) else {
        return;
    };
    let reply = post(
        server.addr(),
        "/api/restore",
        &[
            ("image", Some("noisy.png"), &png),
            ("noise_sigma", None, b"0.08"),
        ],
    );
    assert_eq!(reply.status, 503);
    assert!(reply.error().contains("limit"), "{}", reply.error());
}

/// The resident memory of this process, in KiB.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A bounded load: 200 requests, 16 at a time, against a queue of 4. Each is answered, 200 or
/// 503 (never dropped, never another status), the server still answers afterwards, and its
/// memory does not grow with the requests it has served.
#[test]
fn two_hundred_requests_sixteen_at_a_time_are_each_answered() {
    let Some(server) = start(ServeOptions {
        queue: 4,
        ..ServeOptions::default()
    }) else {
        return;
    };
    let addr = server.addr();
    let dir = tempfile::tempdir().unwrap();
    let (_, png) = noisy_png(dir.path());
    let before = resident_kib();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|t| {
                let png = &png;
                s.spawn(move || {
                    // 200 in all: threads 0-7 send 13, threads 8-15 send 12
                    let count = if t < 8 { 13 } else { 12 };
                    (0..count)
                        .map(|i| {
                            // every fourth a restore (slow), the rest enhancements (fast)
                            let r = if (t + i) % 4 == 0 {
                                post(
                                    addr,
                                    "/api/restore",
                                    &[
                                        ("image", Some("noisy.png"), png),
                                        ("noise_sigma", None, b"0.08"),
                                    ],
                                )
                            } else {
                                post(
                                    addr,
                                    "/api/enhance",
                                    &[("image", Some("noisy.png"), png), ("gamma", None, b"1.2")],
                                )
                            };
                            r.status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(statuses.len(), 200);
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    let busy = statuses.iter().filter(|&&s| s == 503).count();
    assert_eq!(ok + busy, 200, "other statuses: {statuses:?}");
    // the queue's 4 places are filled before anything is refused
    assert!(ok >= 4, "only {ok} of 200 served");
    assert_eq!(
        request(addr, "GET", "/healthz", "text/plain", b"").body,
        b"ok\n"
    );
    // generous, since the other tests of this binary run beside this one: what it checks is
    // that 200 requests' bodies and pictures are not kept
    let grown = resident_kib().saturating_sub(before);
    assert!(grown < 192 * 1024, "resident memory grew by {grown} KiB");
}
