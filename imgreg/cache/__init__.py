"""The image cache: this node's local, read-through copies of image data (issue 20).

* ``layout``: where its files live; ``catalog``: what it holds (a SQLite file in the cache
  directory: hits, times, sizes, CRC-32s, the prefetch queue);
* ``fill``: one image written into it (a locked partial file, hashed, verified against the
  image's ``os_hash_value`` and size, fsync'd and renamed); ``hits``: one served from it
  (checked against its CRC-32 first; a bad copy is evicted, never served);
* ``cache``: ``ImageCache``, the operations the API, the download and ``imgreg-manage`` use;
* ``read_through``: a store download copied into a fill on its way to the client;
* ``upkeep``: the prefetcher and the pruner, and their timer.

Nothing here runs unless ``[DEFAULT] image_cache_dir`` is set.
"""
