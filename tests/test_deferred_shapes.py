"""Shapes of an edit that reaches far, left for another thread (Document.defer_shapes_above): the edit is heard of
at once with a preview of the first nodes downstream, the rest come from shapes_job, and whoever reads
Document.shapes meanwhile gets them complete."""

from __future__ import annotations

import threading

from neuralforge_desktop.core.analysis.shapes import infer_shapes
from neuralforge_desktop.core.edit import document as document_module
from neuralforge_desktop.core.edit.document import Document, DocumentChange
from neuralforge_desktop.core.edit.edits import AddNode, SetParam
from neuralforge_desktop.core.ir.compose import Composer
from neuralforge_desktop.core.ir.graph import Node


def chain(length: int) -> Document:
    c = Composer("chain")
    x = c.input("image", [3, 32, 32])
    x = c.layer("Conv2d", x, "stem", out_channels=8, kernel_size=3, padding=1)
    for i in range(length):
        x = c.layer("ReLU", x, f"relu{i}")
    x = c.layer("Flatten", x, "flat")
    x = c.layer("Linear", x, "fc", out_features=10)
    c.output(x, "logits")
    return Document(c.done(layout=False))


def outputs(shapes) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {nid: result.outputs for nid, result in shapes.results.items()}


def listen(document: Document) -> list[DocumentChange]:
    heard: list[DocumentChange] = []
    document.subscribe(heard.append)
    return heard


def test_a_far_reaching_edit_is_heard_at_once_and_its_shapes_come_from_the_job(monkeypatch):
    monkeypatch.setattr(document_module, "PREVIEW_NODES", 5)
    document = chain(40)
    document.defer_shapes_above = 10
    heard = listen(document)
    document.apply(SetParam("image", "shape", [3, 16, 16]))
    assert document.shapes_pending
    (edited,) = heard
    assert edited.shapes_pending and not edited.structural
    assert len(edited.changed) == 5  # the preview: the first nodes downstream, current
    assert document.shapes_so_far.spec("stem").shape[2:] == (16, 16)
    assert document.shapes_so_far.spec("relu30").shape[2:] == (32, 32)  # not yet

    job = document.shapes_job()
    assert job is not None
    box: list[object] = []
    worker = threading.Thread(target=lambda: box.append(job.compute()))
    worker.start()
    worker.join()
    document.accept_shapes(job, box[0])  # type: ignore[arg-type]

    assert not document.shapes_pending
    done = heard[-1]
    assert not done.shapes_pending and isinstance(done.edit, SetParam)
    assert {"stem", "relu39", "flat", "fc"} <= done.changed
    assert outputs(document.shapes) == outputs(infer_shapes(document.graph))


def test_a_read_while_pending_gets_complete_shapes_and_a_late_job_is_only_announced():
    document = chain(40)
    document.defer_shapes_above = 10
    heard = listen(document)
    document.apply(SetParam("image", "shape", [3, 16, 16]))
    job = document.shapes_job()
    assert job is not None
    assert document.shapes.spec("relu39").shape[2:] == (16, 16)  # inferred by the read
    assert not document.shapes_pending and len(heard) == 1  # told when the job's value arrives
    document.accept_shapes(job, job.compute())
    assert len(heard) == 2 and not heard[1].shapes_pending
    assert outputs(document.shapes) == outputs(infer_shapes(document.graph))


def test_edits_made_while_pending_are_inferred_together_and_a_stale_job_is_refused():
    document = chain(40)
    document.defer_shapes_above = 10
    heard = listen(document)
    document.apply(SetParam("image", "shape", [3, 16, 16]))
    stale = document.shapes_job()
    document.apply(SetParam("stem", "out_channels", 4))
    assert stale is not None and not document.is_current(stale)
    document.accept_shapes(stale, stale.compute())
    assert document.shapes_pending  # refused: an edit came after it
    job = document.shapes_job()
    assert job is not None
    document.accept_shapes(job, job.compute())
    assert not document.shapes_pending
    assert [c.edit.__class__.__name__ for c in heard] == ["SetParam", "SetParam", "Macro"]
    assert outputs(document.shapes) == outputs(infer_shapes(document.graph))


def test_a_structural_edit_while_pending_infers_everything_at_once():
    document = chain(40)
    document.defer_shapes_above = 10
    heard = listen(document)
    document.apply(SetParam("image", "shape", [3, 16, 16]))
    document.apply(AddNode(Node("extra", "ReLU")))
    assert not document.shapes_pending
    assert heard[-1].structural and not heard[-1].shapes_pending and "relu39" in heard[-1].changed
    assert outputs(document.shapes) == outputs(infer_shapes(document.graph))


def test_small_edits_and_documents_without_a_limit_stay_synchronous():
    document = chain(40)
    heard = listen(document)
    document.apply(SetParam("image", "shape", [3, 16, 16]))
    assert not document.shapes_pending and not heard[-1].shapes_pending
    document.defer_shapes_above = 10
    document.apply(SetParam("fc", "out_features", 3))  # reaches only the output
    assert not document.shapes_pending
    assert document.shapes_job() is None
