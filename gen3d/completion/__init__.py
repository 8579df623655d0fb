"""Shape completion from partial scans: partial views of shapes, completion with conditional and
unconditional models, and the completion metrics of PVD's protocol (user guide: docs/completion.md).

Modules (importing this package loads none of them; open3d is imported inside ``raycast.depth_scan`` only):

* ``cameras``: pinhole :class:`~gen3d.completion.cameras.Camera` (pose and intrinsics, JSON round trip),
  ``sample_cameras``;
* ``hpr``: ``hidden_point_removal`` (Katz et al. 2007); ``raycast``: ``depth_scan`` of a mesh (Open3D);
* ``views``: ``partial_views`` of one shape, degenerate views skipped and counted;
* ``inpaint``: ``InpaintingDenoiser``, replacement (or clean) conditioning of any denoiser;
* ``complete``: ``complete_in_frame`` / ``complete_raw`` with ``CompletionSettings``; ``frame``: the model's
  frame for a raw scan;
* ``finetune``: the conditional model (PVD's scheme) by fine-tuning; ``train_config``: its settings files
  (``gen3d complete-train --config``);
* ``completion_file``: the ``gen3d complete`` output; ``inputs``: partial files and cache views;
* ``metrics``: CD / EMD best- and mean-of-K, UHD, TMD; ``evaluate``: ``gen3d evaluate --task completion``.
"""
