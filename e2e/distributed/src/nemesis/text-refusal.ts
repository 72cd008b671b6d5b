import { ERROR_CODES, type Sql } from '@els/coordination';
import { createSeededRandom, planWave, type WorkloadOptions } from '@els/workload';

/**
 * Scenario 9's refusal: a trigger on the run's database refuses every write that binds one of a few chosen
 * valid texts to a slot or stores it as pending (`raise exception`, SQLSTATE P0001, a failure the worker does not understand). The
 * database stays writable, so the worker's write probe finds it healthy, the failure reproduces, and the
 * texts are dead-lettered as ELS_ERR_INTERNAL: a defect in someone's database, not an outage. Lifting the
 * refusal is "fixing the cause"; replaying the dead letters must then assign each text once.
 */

/** The code a refused text's dead letter carries. */
export const REFUSED_TEXT_CODE = ERROR_CODES.internal;

export interface RefusedText {
  batchId: string;
  textStorageId: string;
}

/**
 * One text of every registered batch of the run's waves, chosen from the seed, among the texts sent once
 * (a duplicate copy under a fresh event id would be a second chance the replay does not need).
 */
export function chooseRefusedTexts(workload: WorkloadOptions, waves: number): RefusedText[] {
  const random = createSeededRandom(workload.seed).fork(`${workload.runId}/refused-texts`);
  const chosen: RefusedText[] = [];
  for (let wave = 0; wave < waves; wave += 1) {
    for (const batch of planWave(workload, wave).expectations) {
      if (!batch.registrationSent) continue;
      const excluded = new Set(batch.duplicatedTextStorageIds);
      const candidates = batch.textStorageIds.filter((text) => !excluded.has(text));
      const text = candidates[random.int(candidates.length)];
      if (text !== undefined) chosen.push({ batchId: batch.batchId, textStorageId: text });
    }
  }
  return chosen;
}

export interface TextRefusal {
  readonly texts: readonly RefusedText[];
  /** Drops the trigger: the cause is fixed. */
  lift(): Promise<void>;
}

/** Installs the refusal on the run's database (before anything is produced). */
export async function refuseTexts(sql: Sql, texts: readonly RefusedText[]): Promise<TextRefusal> {
  await sql`create table e2e_refused_texts (batch_id text, text_storage_id text, primary key (batch_id, text_storage_id))`;
  if (texts.length > 0) {
    await sql`insert into e2e_refused_texts ${sql(
      texts.map((text) => ({ batch_id: text.batchId, text_storage_id: text.textStorageId })),
    )}`;
  }
  await sql.unsafe(`
    create function e2e_refuse_texts() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from e2e_refused_texts
                 where batch_id = new.batch_id and text_storage_id = new.text_storage_id) then
        raise exception 'refused text % of batch %', new.text_storage_id, new.batch_id;
      end if;
      return new;
    end $$`);
  await sql`create trigger e2e_refuse_texts before insert or update on essay_states
            for each row execute function e2e_refuse_texts()`;
  // A text handled before its batch's registration (another partition, another replica) is stored as
  // pending: it is refused there too, or the registration that applies it would be refused in its place.
  await sql`create trigger e2e_refuse_texts before insert on pending_content
            for each row execute function e2e_refuse_texts()`;
  return {
    texts,
    async lift() {
      await sql`drop trigger if exists e2e_refuse_texts on essay_states`;
      await sql`drop trigger if exists e2e_refuse_texts on pending_content`;
      await sql`drop function if exists e2e_refuse_texts()`;
    },
  };
}
