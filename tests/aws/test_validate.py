"""Offline request validation: botocore's Java patterns compiled to mean what Java means.

The requests the SageMaker backend builds are checked in tests/execution/test_sagemaker_request.py.
"""

from __future__ import annotations

import botocore.session

from loclab.aws import compile_java_pattern

TAG_PATTERN = r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"


def test_every_model_pattern_compiles():
    session = botocore.session.get_session()
    patterns = set()
    for service in ("sagemaker", "s3", "logs"):
        model = session.get_service_model(service)
        for name in model.shape_names:
            pattern = model.shape_for(name).metadata.get("pattern")
            if pattern:
                patterns.add(pattern)
    assert len(patterns) > 200
    for pattern in patterns:
        compile_java_pattern(pattern)


def test_java_classes_mean_what_java_means():
    # \p{Alnum} is ASCII in Java; regex's would accept letters with accents.
    assert not compile_java_pattern(r"\p{Alnum}+").fullmatch("é")
    assert compile_java_pattern(r"[\p{Alnum}_]+").fullmatch("ab_9")
    assert compile_java_pattern(r"\P{Digit}").fullmatch("x")
    # Unicode letters and spaces stay Unicode.
    assert compile_java_pattern(TAG_PATTERN).fullmatch("Übersetzung Qualität")
    # A UTF-16 surrogate range means the supplementary planes.
    supplementary = compile_java_pattern(r"[\u0020-\uD7FF\uD800\uDC00-\uDBFF\uDFFF]*")
    assert supplementary.fullmatch("term 😀")
    # Patterns match the whole value, as the service's validator does.
    assert not compile_java_pattern("[a-zA-Z_][a-zA-Z0-9_]*").fullmatch("1BAD")
