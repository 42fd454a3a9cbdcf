"""Queue sources: event source mappings from SQS, RabbitMQ and Redis streams to a machine.

base.py            Message, the QueueSource Protocol, SourceSettings
runner.py          SourceRunner: batches, idempotent starts, acks, dead letters
sqs.py             Amazon SQS through the operator's AWS endpoint
rabbitmq.py        RabbitMQ (aio-pika; the `queues` extra)
redis_streams.py   Redis streams with a consumer group (redis-py; the `queues` extra)
"""
