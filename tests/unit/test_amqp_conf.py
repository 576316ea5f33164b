"""The Celery app on RabbitMQ: publisher confirms, durable classic queues, acks late."""

from __future__ import annotations

from dispatcher.config import Settings
from dispatcher.monitoring.rabbit import is_amqp
from dispatcher.worker.app import create_celery

SECRET = "unit-secret-key-long-enough-to-sign-0123"


def _settings(broker_url: str) -> Settings:
    return Settings(database_url="sqlite://", broker_url=broker_url, secret_keys=(SECRET,))


def test_on_rabbitmq_publishes_wait_for_confirms_into_durable_classic_queues() -> None:
    conf = create_celery(_settings("amqp://guest:guest@127.0.0.1:5672//")).conf
    assert conf.broker_transport_options == {"confirm_publish": True}
    assert conf.task_default_queue_type == "classic"
    assert conf.task_default_delivery_mode == "persistent"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1


def test_on_redis_nothing_of_rabbitmq_applies() -> None:
    conf = create_celery(_settings("redis://127.0.0.1:6379/0")).conf
    assert "confirm_publish" not in conf.broker_transport_options
    assert conf.broker_transport_options["visibility_timeout"] == 3600


def test_which_urls_are_rabbitmq() -> None:
    assert is_amqp("amqp://h//") and is_amqp("amqps://h//") and is_amqp("pyamqp://h//")
    assert not is_amqp("redis://h/0") and not is_amqp("sqla+sqlite:///x")
