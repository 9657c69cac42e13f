import logging

from core import sms


def test_the_log_backend_writes_the_message_with_its_code(settings, caplog):
    settings.SMS_BACKEND = "core.sms.LogBackend"
    with caplog.at_level(logging.INFO, logger="core.sms"):
        sms.send_sms(phone="13800000000", text="验证码 123456")
    assert "13800000000" in caplog.text
    assert "验证码 123456" in caplog.text


def test_the_locmem_backend_keeps_an_outbox(settings):
    settings.SMS_BACKEND = "core.sms.LocmemBackend"
    sms.outbox.clear()
    sms.send_sms(phone="13800000001", text="你好")
    assert sms.outbox == [sms.Sms(phone="13800000001", text="你好")]
    sms.outbox.clear()


def test_the_backend_is_the_one_the_setting_names(settings):
    settings.SMS_BACKEND = "core.sms.LocmemBackend"
    assert isinstance(sms.get_backend(), sms.LocmemBackend)


def test_a_backend_that_cannot_be_imported_is_a_system_check_error(settings):
    settings.SMS_BACKEND = "core.sms.NoSuchBackend"
    assert [e.id for e in sms.check_backend()] == ["core.E201"]
    settings.SMS_BACKEND = "core.sms.Sms"
    assert [e.id for e in sms.check_backend()] == ["core.E202"]
    settings.SMS_BACKEND = "core.sms.LocmemBackend"
    assert sms.check_backend() == []


def test_the_deploy_check_warns_that_the_log_backend_sends_nothing(settings):
    settings.SMS_BACKEND = "core.sms.LogBackend"
    assert [w.id for w in sms.check_backend_sends()] == ["core.W201"]
    settings.SMS_BACKEND = "core.sms.LocmemBackend"
    assert sms.check_backend_sends() == []
