"""Clusters: the rows that share source material are one unit of evidence (Methods: cluster-aware statistics)."""

from harness.corpus.manifest import ClipRecord, clip_clusters, material_keys


def rec(clip_id, source="generated", origin="seed=1", layers=()):
    return ClipRecord(id=clip_id, source=source, origin=origin, genre=None, offset_s=0.0, duration_s=5.0,
                      sample_rate=48000, split="test", sha256="0" * 64, target_file=f"{clip_id}.wav",
                      layers=tuple(layers))


def test_windows_of_one_file_are_one_cluster_and_other_files_are_not():
    clips = [rec("a0", "recorded", "song_a.flac"), rec("a1", "recorded", "song_a.flac"),
             rec("b0", "recorded", "song_b.flac")]
    c = clip_clusters(clips)
    assert c["a0"] == c["a1"] != c["b0"]


def test_generated_clips_sharing_a_piece_or_a_loop_are_linked_transitively():
    clips = [
        rec("g0", layers=["midi:bach/bwv416:programs=melody=0:tempo=115.0", "loop:loop_mika@115.0bpm"]),
        rec("g1", layers=["midi:bach/bwv273:programs=melody=30:tempo=116.5", "loop:loop_mika@98.0bpm"]),
        rec("g2", layers=["midi:bach/bwv273:programs=melody=2:tempo=90.0", "hits:bd_boom+perc_snap"]),
        rec("g3", layers=["midi:monteverdi/madrigal.3.1:programs=x", "hits:bd_boom+perc_snap", "voice:espeak-ng:en-us+f3"]),
    ]
    c = clip_clusters(clips)
    assert c["g0"] == c["g1"] == c["g2"]  # g0-g1 share a loop (other tempo), g1-g2 a piece
    assert c["g3"] != c["g0"]  # generic one-shot hits and voices do not link clips
    assert material_keys(clips[0]) == {"midi:bach/bwv416", "loop:loop_mika"}
