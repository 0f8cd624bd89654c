use super::*;

/// A gzipped tarball of `entries`: (path, contents) files, or (path, `->target`) links.
fn tarball(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, contents) in entries {
        let mut header = tar::Header::new_gnu();
        if let Some(target) = contents.strip_prefix("->") {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            header.set_mode(0o777);
            // Written raw: the builder refuses what the archive must be able to hold.
            set_raw_path(&mut header, path);
            header.as_gnu_mut().unwrap().linkname[..target.len()]
                .copy_from_slice(target.as_bytes());
            header.set_cksum();
            builder.append(&header, std::io::empty()).unwrap();
        } else {
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            set_raw_path(&mut header, path);
            header.set_cksum();
            builder.append(&header, contents.as_bytes()).unwrap();
        }
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn set_raw_path(header: &mut tar::Header, path: &str) {
    let name = &mut header.as_gnu_mut().unwrap().name;
    name.fill(0);
    name[..path.len()].copy_from_slice(path.as_bytes());
}

#[test]
fn an_archive_reads_as_its_files_with_their_digests() {
    let files = read(
        &tarball(&[
            ("./index.html", "<h1>hi</h1>"),
            ("assets/app.js", "x()"),
            ("assets/link.js", "->app.js"),
        ]),
        1024,
    )
    .unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["assets/app.js", "assets/link.js", "index.html"]);
    assert_eq!(files[1].contents, b"x()");
    use sha2::Digest;
    assert_eq!(
        files[2].sha256,
        hex::encode(sha2::Sha256::digest(b"<h1>hi</h1>"))
    );
}

#[test]
fn archives_that_leave_the_release_are_refused() {
    // (entries, limit, what the error names)
    type Case<'a> = (&'a [(&'a str, &'a str)], u64, &'a str);
    let cases: &[Case<'_>] = &[
        (&[("../evil", "x")], 1024, "`../evil` leaves the release"),
        (&[("a/../../evil", "x")], 1024, "leaves the release"),
        (
            &[("/etc/passwd", "x")],
            1024,
            "`/etc/passwd` is an absolute path",
        ),
        (
            &[("a", "x"), ("up", "->../../etc/passwd")],
            1024,
            "`up` links out of the release",
        ),
        (&[("up", "->/etc/passwd")], 1024, "links out of the release"),
        (
            &[("dangling", "->nowhere")],
            1024,
            "links to a file that is not in the archive",
        ),
        (&[("big", "0123456789")], 5, "more than 5 bytes"),
        (&[], 1024, "holds no files"),
    ];
    for (entries, limit, names) in cases {
        let error = read(&tarball(entries), *limit).unwrap_err().to_string();
        assert!(error.contains(names), "{entries:?}: {error}");
    }
    let error = read(b"not a tarball", 1024).unwrap_err();
    assert!(matches!(error, ArchiveError::Unreadable(_)), "{error}");
}

#[test]
fn headers_come_from_the_extension_and_the_first_matching_glob() {
    let rules = CacheRules::new(&[
        ("*.html".to_owned(), "no-cache".to_owned()),
        (
            "assets/**".to_owned(),
            "public, max-age=31536000, immutable".to_owned(),
        ),
        ("*".to_owned(), "public, max-age=300".to_owned()),
    ])
    .unwrap();
    // (path, content type, Cache-Control)
    let cases = [
        ("index.html", "text/html; charset=utf-8", "no-cache"),
        ("docs/about.html", "text/html; charset=utf-8", "no-cache"),
        (
            "assets/app.js",
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        (
            "assets/img/logo.png",
            "image/png",
            "public, max-age=31536000, immutable",
        ),
        (
            "robots.txt",
            "text/plain; charset=utf-8",
            "public, max-age=300",
        ),
        (
            "data.bin",
            "application/octet-stream",
            "public, max-age=300",
        ),
    ];
    for (path, content, cache) in cases {
        assert_eq!(content_type(path), content, "{path}");
        assert_eq!(rules.cache_control(path), Some(cache), "{path}");
    }
    assert_eq!(
        CacheRules::new(&[]).unwrap().cache_control("index.html"),
        None
    );
    assert!(CacheRules::new(&[("a[".to_owned(), "x".to_owned())]).is_err());
}
